//! The Mainline DHT (BEP 5, with BEP 32 for IPv6): the session's one node, `shoal_dht::Dht`
//! (sans-IO), driven by one task, and one task per torrent that looks up peers for its
//! info-hash and announces us.
//!
//! * **One socket with uTP.** The node sends and receives on the session's uTP socket (the
//!   uTP task hands it every datagram that is not uTP), so the port other nodes see, and the
//!   mapping a NAT keeps for it, are those of our uTP listener. Announces say
//!   `implied_port`: nodes store the source port our datagrams arrive from, which behind a
//!   NAT is the NAT's external port for that socket, so peers that find us dial the one
//!   address that reaches us (and two peers behind NATs that find each other this way punch
//!   through by dialing each other over uTP at once). With uTP off (`--transport tcp`) the
//!   node binds its own UDP socket on the listen port and announces that port.
//! * A dual-stack listener (`[::]`) gives the node both families (BEP 32): one routing table
//!   each, lookups on both.
//! * Bootstrap names are resolved in the background; without a network every lookup simply
//!   finds nothing and other sources keep working. Bootstrap nodes on loopback or private
//!   addresses (a private DHT, as in tests or on a LAN) let the node keep such addresses in
//!   its tables; otherwise they are dropped as unreachable.
//! * Per torrent: an announce walk (a `get_peers` lookup whose peers are handed to the
//!   driver as they arrive, then `announce_peer` to the closest nodes), every
//!   [`LOOKUP_INTERVAL`], or sooner (1 s, doubling up to a minute) while the torrent has no
//!   connected peer. A downloader announces too: it is a peer, and a sharer behind a NAT
//!   finds it (and dials it) that way. Our own address, when a lookup returns it, is
//!   dropped by the driver's own-address check.
//! * Nodes' reports of the address they see us at (BEP 42 `ip`) are votes for our external
//!   address (`external_addr.rs`).
//! * The routing table's good nodes are saved to the state file every [`SAVE_INTERVAL`] and
//!   at shutdown, and bootstrap the next run. A peer's PORT message (BEP 5) pings its node,
//!   which joins the table if it answers.
//! * Private torrents (BEP 27) never use the DHT.

use super::TorrentLink;
use crate::dual_stack::{self, Family};
use crate::external_addr::{ExternalAddress, Reporter};
use crate::utp::{OtherDatagram, UtpSocket};
use shoal_dht::{Event, LookupId};
use shoal_discovery::dht_state;
use shoal_engine::PeerSource;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, info_span, trace, warn, Instrument};

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
/// Longest a single lookup may take before it is given up.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the routing table is written to the state file.
const SAVE_INTERVAL: Duration = Duration::from_secs(10 * 60);
/// Saved nodes used to bootstrap.
const MAX_SAVED_BOOTSTRAP: usize = 32;
/// Commands waiting for the node's task; beyond this a torrent's request waits.
const COMMAND_QUEUE: usize = 256;
/// Largest datagram the node sends.
const MAX_DATAGRAM: usize = 2048;
/// Longest wait for the bootstrap routers' names to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the session's DHT node starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhtConfig {
    /// Bootstrap nodes as `host:port`. [`DhtConfig::new`] fills in [`DEFAULT_BOOTSTRAP`].
    pub bootstrap: Vec<String>,
    /// Where the routing table is saved and read back (none: not saved).
    pub state_file: Option<PathBuf>,
    /// Answer no queries and say so to other nodes (BEP 43), for a node that knows it
    /// cannot be reached. Off by default: answering costs little, and a node others can
    /// reach helps the network.
    pub read_only: bool,
}

impl DhtConfig {
    /// The public routers, no state file, answering queries.
    pub fn new() -> DhtConfig {
        DhtConfig {
            bootstrap: DEFAULT_BOOTSTRAP.iter().map(|s| s.to_string()).collect(),
            state_file: None,
            read_only: false,
        }
    }
}

impl Default for DhtConfig {
    fn default() -> DhtConfig {
        DhtConfig::new()
    }
}

/// What the node's task is asked to do.
enum Command {
    /// Look up peers and announce us (`port` `None`: implied port), streaming what is found.
    Announce {
        info_hash: [u8; 20],
        port: Option<u16>,
        found: mpsc::Sender<Vec<SocketAddr>>,
    },
    /// A peer's PORT message named its node.
    AddNode(SocketAddr),
    /// The good nodes of the tables, for the state file.
    Nodes(oneshot::Sender<Vec<SocketAddr>>),
}

/// The session's DHT node. Cheap to clone; the node stops when the last clone is gone.
#[derive(Clone)]
pub(crate) struct Dht {
    commands: mpsc::Sender<Command>,
    /// The UDP port the node answers on (what PORT messages say).
    port: u16,
    /// `None` for a node on uTP's socket: announces say `implied_port`.
    announce_port: Option<u16>,
    state_file: Option<PathBuf>,
}

/// Where the node's datagrams come from and go to.
enum Socket {
    /// The session's uTP socket.
    Shared {
        utp: Arc<UtpSocket>,
        incoming: mpsc::Receiver<OtherDatagram>,
    },
    /// A socket of its own (uTP off).
    Own(UdpSocket),
}

impl Socket {
    async fn recv(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        match self {
            Socket::Shared { incoming, .. } => {
                let (from, data) = incoming.recv().await?;
                let len = data.len().min(buf.len());
                buf[..len].copy_from_slice(&data[..len]);
                Some((len, from))
            }
            Socket::Own(socket) => loop {
                match socket.recv_from(buf).await {
                    Ok((len, from)) => return Some((len, dual_stack::canonical(from))),
                    // An ICMP error of an earlier send: nothing to do.
                    Err(e) => trace!("DHT socket receive: {e}"),
                }
            },
        }
    }

    async fn send(&self, to: SocketAddr, data: &[u8]) {
        let sent = match self {
            Socket::Shared { utp, .. } => utp.send_other(to, data).await,
            Socket::Own(socket) => {
                let local = socket.local_addr();
                let to = local.map_or(to, |local| dual_stack::for_socket(to, local));
                socket.send_to(data, to).await
            }
        };
        if let Err(e) = sent {
            trace!(%to, "DHT send: {e}");
        }
    }
}

impl Dht {
    /// Starts the node on `utp`'s socket, or on a socket of its own on `listen` when uTP
    /// is off. Returns at once; bootstrapping goes on in the background.
    pub(crate) fn start(
        config: DhtConfig,
        listen: SocketAddr,
        utp: Option<&Arc<UtpSocket>>,
        external: Arc<ExternalAddress>,
        seed: u64,
    ) -> io::Result<Dht> {
        let (socket, port, announce_port) = match utp {
            Some(utp) => {
                let incoming = utp.other_datagrams();
                let port = utp.local_addr().port();
                let socket = Socket::Shared {
                    utp: utp.clone(),
                    incoming,
                };
                (socket, port, None)
            }
            None => {
                // The listen port when UDP's half of it is free, else any.
                let socket = dual_stack::udp_socket(listen)
                    .or_else(|_| dual_stack::udp_socket(SocketAddr::new(listen.ip(), 0)))?;
                let port = socket.local_addr()?.port();
                // Peers dial the TCP listener, whatever port the node got.
                (Socket::Own(socket), port, Some(listen.port()))
            }
        };
        let families = dual_stack::families(listen);
        let saved = config
            .state_file
            .as_deref()
            .map(read_state)
            .unwrap_or_default();
        let node_config = shoal_dht::Config {
            seed,
            read_only: config.read_only,
            ipv4: families.contains(&Family::V4),
            ipv6: families.contains(&Family::V6),
            ..shoal_dht::Config::default()
        };
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        let task = NodeTask {
            config: node_config,
            socket,
            commands: rx,
            external,
            lookups: HashMap::new(),
            state_file: config.state_file.clone(),
        };
        let bootstrap = config.bootstrap.clone();
        tokio::spawn(
            task.run(bootstrap, saved)
                .instrument(info_span!("dht", udp_port = port)),
        );
        info!(
            udp_port = port,
            shared_with_utp = announce_port.is_none(),
            "DHT node started"
        );
        Ok(Dht {
            commands,
            port,
            announce_port,
            state_file: config.state_file,
        })
    }

    /// The node's UDP port, for our PORT messages.
    pub(crate) fn port(&self) -> Option<u16> {
        Some(self.port)
    }

    /// A peer told us its DHT node (BEP 5 PORT message): ping it, keep it if it answers.
    pub(crate) fn add_node(&self, addr: SocketAddr) {
        if addr.port() != 0 {
            let _ = self.commands.try_send(Command::AddNode(addr));
        }
    }

    /// Saves the routing table one last time.
    pub(crate) async fn shutdown(&self) {
        self.save().await;
    }

    /// Writes the good nodes of the routing tables to the state file, and waits for it.
    async fn save(&self) {
        let Some(path) = self.state_file.clone() else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Nodes(tx)).await.is_err() {
            return;
        }
        let Ok(Ok(nodes)) = tokio::time::timeout(Duration::from_secs(2), rx).await else {
            return;
        };
        let _ = spawn_save(path, nodes).await;
    }

    /// Starts an announce walk; the peers it finds arrive on the receiver, which closes
    /// when the walk is done.
    async fn announce(&self, info_hash: [u8; 20]) -> Option<mpsc::Receiver<Vec<SocketAddr>>> {
        let (found, rx) = mpsc::channel(64);
        let command = Command::Announce {
            info_hash,
            port: self.announce_port,
            found,
        };
        self.commands.send(command).await.ok()?;
        Some(rx)
    }
}

/// The task that owns the node.
struct NodeTask {
    config: shoal_dht::Config,
    socket: Socket,
    commands: mpsc::Receiver<Command>,
    external: Arc<ExternalAddress>,
    /// Where each running lookup's peers go, and the announce that follows a lookup.
    lookups: HashMap<LookupId, Walk>,
    state_file: Option<PathBuf>,
}

/// A torrent's round: a `get_peers` lookup, then the announce that uses its tokens.
struct Walk {
    found: mpsc::Sender<Vec<SocketAddr>>,
    /// Set while the lookup runs: what to announce once it is done.
    then_announce: Option<([u8; 20], Option<u16>)>,
}

impl NodeTask {
    async fn run(mut self, bootstrap: Vec<String>, saved: Vec<SocketAddr>) {
        let mut routers = resolve(&bootstrap).await;
        // Nodes on loopback or private addresses only make sense in a private DHT: keep
        // them if that is what we were pointed at.
        self.config.allow_private_addresses = routers
            .iter()
            .chain(&saved)
            .any(|a| !crate::external_addr::is_global(a.ip()));
        routers.extend(saved.into_iter().take(MAX_SAVED_BOOTSTRAP));
        let mut node = shoal_dht::Dht::new(self.config.clone(), Instant::now());
        if routers.is_empty() {
            warn!("DHT: no bootstrap node could be resolved; the node waits to be found");
        } else if let Err(e) = node.add_bootstrap(Instant::now(), &routers) {
            warn!("DHT bootstrap failed to start: {e}");
        }
        let mut buf = vec![0u8; 65_536];
        let mut out = vec![0u8; MAX_DATAGRAM];
        let mut save_tick = tokio::time::interval(SAVE_INTERVAL);
        save_tick.tick().await;
        loop {
            let deadline = node.poll_timeout();
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                received = self.socket.recv(&mut buf) => match received {
                    Some((len, from)) => {
                        trace!(%from, len, "DHT datagram in");
                        if !node.handle_datagram(Instant::now(), from, &buf[..len]) {
                            trace!(%from, "not a DHT message, dropped");
                        }
                    }
                    // The uTP socket is gone: the session is shutting down.
                    None => return,
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.command(&mut node, command),
                    // Every handle is gone.
                    None => return,
                },
                () = timer => node.handle_timeout(Instant::now()),
                _ = save_tick.tick() => {
                    if let Some(path) = self.state_file.clone() {
                        spawn_save(path, node.nodes());
                    }
                }
            }
            // An event may start the next step of a walk: go round until both are done.
            loop {
                while let Some(t) = node.poll_transmit(&mut out) {
                    trace!(to = %t.to, len = t.len, "DHT datagram out");
                    self.socket.send(t.to, &out[..t.len]).await;
                }
                let Some(event) = node.poll_event() else {
                    break;
                };
                self.event(&mut node, event);
            }
        }
    }

    fn command(&mut self, node: &mut shoal_dht::Dht, command: Command) {
        let now = Instant::now();
        match command {
            // A fresh lookup every round (an announce alone would reuse the tokens of the
            // last one and walk nowhere, finding no new peer), then the announce, which
            // goes straight to the nodes whose tokens the lookup collected.
            Command::Announce {
                info_hash,
                port,
                found,
            } => match node.get_peers(now, info_hash) {
                Ok(id) => {
                    let walk = Walk {
                        found,
                        then_announce: Some((info_hash, port)),
                    };
                    self.lookups.insert(id, walk);
                }
                // Too many lookups at once: the torrent tries again next round.
                Err(e) => debug!("DHT lookup not started: {e}"),
            },
            Command::AddNode(addr) => node.add_node(now, addr),
            Command::Nodes(reply) => {
                let _ = reply.send(node.nodes());
            }
        }
    }

    fn event(&mut self, node: &mut shoal_dht::Dht, event: Event) {
        match event {
            Event::Peers { lookup, peers } => {
                if let Some(walk) = self.lookups.get(&lookup) {
                    // A torrent that stopped listening only loses this batch.
                    let _ = walk.found.try_send(peers);
                }
            }
            Event::LookupDone { lookup, outcome } => {
                let Some(mut walk) = self.lookups.remove(&lookup) else {
                    return;
                };
                match walk.then_announce.take() {
                    Some((info_hash, port)) => {
                        debug!(
                            responded = outcome.responded,
                            peers = outcome.peers,
                            "DHT lookup answered"
                        );
                        match node.announce(Instant::now(), info_hash, port) {
                            Ok(id) => {
                                self.lookups.insert(id, walk);
                            }
                            Err(e) => debug!("DHT announce not started: {e}"),
                        }
                    }
                    None => debug!(stored = outcome.stored, "announced on the DHT"),
                }
            }
            Event::ExternalAddress { addr, reported_by } => {
                self.external
                    .vote(addr.ip(), Reporter::DhtNode(reported_by.ip()));
            }
            Event::Immutable { .. } | Event::Mutable { .. } => {}
        }
    }
}

/// Writes `nodes` to the state file on a blocking thread. Failures are logged: a lost state
/// file only costs a slower bootstrap. An empty table keeps what an earlier run saved.
fn spawn_save(path: PathBuf, nodes: Vec<SocketAddr>) -> tokio::task::JoinHandle<()> {
    tokio::task::spawn_blocking(move || {
        if nodes.is_empty() {
            return;
        }
        let mut lines: Vec<String> = nodes.iter().map(SocketAddr::to_string).collect();
        lines.truncate(dht_state::MAX_NODES);
        match write_state(&path, &lines) {
            Ok(()) => debug!(nodes = lines.len(), "DHT routing table saved"),
            Err(e) => warn!("cannot save the DHT routing table: {e}"),
        }
    })
}

/// Resolves `host:port` strings; names that do not resolve are logged and skipped (no
/// network is not an error).
async fn resolve(names: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for name in names {
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host(name.as_str()));
        match lookup.await {
            Ok(Ok(addrs)) => {
                for addr in addrs.map(dual_stack::canonical) {
                    if !out.contains(&addr) {
                        out.push(addr);
                    }
                }
            }
            Ok(Err(e)) => debug!(%name, "DHT bootstrap node not resolved: {e}"),
            Err(_) => debug!(%name, "DHT bootstrap node not resolved in time"),
        }
    }
    out
}

fn read_state(path: &Path) -> Vec<SocketAddr> {
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

/// One torrent's DHT task: announce (finding peers on the way), wait, repeat, until the
/// torrent stops. Private torrents (BEP 27) never use the DHT; a magnet's task ends as soon
/// as its metadata says private.
pub(crate) async fn run(dht: Dht, link: TorrentLink) {
    if link.private {
        return;
    }
    // A second view of the torrent just to notice it stopping (or turning out private)
    // while a walk runs.
    let mut watch = link.clone();
    let started = Instant::now();
    let mut first_found = false;
    let mut starved_wait = LOOKUP_INTERVAL_STARVED_FIRST;
    loop {
        let walk = walk(&dht, &link, started, &mut first_found);
        let alive = tokio::select! {
            alive = walk => alive,
            _ = watch.stopped_or_private() => return,
        };
        if !alive {
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

/// One announce walk, handing each batch of peers to the driver as it arrives; false once
/// the torrent has stopped.
async fn walk(dht: &Dht, link: &TorrentLink, started: Instant, first_found: &mut bool) -> bool {
    let Some(mut found) = dht.announce(link.info_hash.0).await else {
        return true;
    };
    let deadline = tokio::time::Instant::now() + QUERY_TIMEOUT;
    let mut count = 0usize;
    loop {
        let peers = match tokio::time::timeout_at(deadline, found.recv()).await {
            Ok(Some(peers)) => peers,
            Ok(None) => break,
            Err(_) => {
                debug!("DHT lookup timed out");
                break;
            }
        };
        let peers: Vec<SocketAddr> = peers
            .into_iter()
            .map(dual_stack::canonical)
            .filter(|p| p.port() != 0 && !p.ip().is_unspecified())
            .collect();
        if peers.is_empty() {
            continue;
        }
        count += peers.len();
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
    debug!(found = count, "DHT lookup done");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_file_round_trip_and_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dht.nodes");
        let mut nodes: Vec<String> = (0..300)
            .map(|i| format!("10.0.{}.{}:6881", i / 256, i % 256))
            .collect();
        nodes.insert(0, "[2001:db8::1]:6881".to_string());
        write_state(&path, &nodes).unwrap();
        let back = read_state(&path);
        assert_eq!(back.len(), dht_state::MAX_NODES);
        assert_eq!(back[0], "[2001:db8::1]:6881".parse::<SocketAddr>().unwrap());
        std::fs::write(&path, vec![b'x'; dht_state::MAX_FILE_LEN + 1]).unwrap();
        assert!(read_state(&path).is_empty());
        assert!(read_state(&dir.path().join("missing")).is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_magnet_whose_metadata_says_private_leaves_the_dht() {
        let config = DhtConfig {
            bootstrap: Vec::new(),
            state_file: None,
            read_only: false,
        };
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let external = Arc::new(ExternalAddress::new());
        let dht = Dht::start(config, listen, None, external, 1).unwrap();
        let (link, driver) = super::super::test_link::magnet(shoal_core::InfoHash([9; 20]));
        let task = tokio::spawn(run(dht.clone(), link));
        // Let it start its walks with the metadata unknown.
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

    /// Two nodes on loopback sockets of their own (uTP off): one announces (the listen
    /// port it was given, as the TCP listener's), the other's walk finds it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_find_each_other() {
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let config = |bootstrap: Vec<String>| DhtConfig {
            bootstrap,
            state_file: None,
            read_only: false,
        };
        let external = Arc::new(ExternalAddress::new());
        let a = Dht::start(config(Vec::new()), listen, None, external.clone(), 2).unwrap();
        let listen: SocketAddr = "127.0.0.1:45678".parse().unwrap();
        let a_addr = format!("127.0.0.1:{}", a.port().unwrap());
        let b = Dht::start(config(vec![a_addr]), listen, None, external, 3).unwrap();
        let info_hash = [7u8; 20];
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                // b announces (a stores it); a's own walk then finds b.
                let mut rx = b.announce(info_hash).await.unwrap();
                while rx.recv().await.is_some() {}
                let mut rx = a.announce(info_hash).await.unwrap();
                while let Some(peers) = rx.recv().await {
                    if let Some(peer) = peers.first() {
                        return *peer;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .expect("a finds b within 10 s");
        assert_eq!(found.port(), 45678, "the listen port is announced");
    }
}
