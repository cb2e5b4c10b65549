//! Settings for a [`crate::Session`] and for each torrent added to it.

pub use crate::discovery::dht::DhtConfig;
pub use crate::discovery::lsd::LsdConfig;
pub use crate::portmap::PortMapConfig;
use bytes::Bytes;
use shoal_core::{Info, InfoHash, PeerId};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How a [`crate::Session`] listens and dials.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Address the listener binds; port 0 picks an unused one (see
    /// [`crate::Session::listen_addr`] for the port actually bound).
    pub listen: SocketAddr,
    /// Our peer id; a fresh random one when `None`.
    pub peer_id: Option<PeerId>,
    /// Longest wait for a TCP connect to a peer.
    pub connect_timeout: Duration,
    /// Longest wait for the peer's half of the handshake, in either direction.
    pub handshake_timeout: Duration,
    /// Threads that hash existing data when a torrent is added.
    pub check_threads: usize,
    /// Most incoming connections that may be waiting for their handshake at once.
    pub max_pending_handshakes: usize,
    /// Most peer connections of the whole session, all torrents together: outbound dials in
    /// flight, established peers, and inbound peers. Past it, dials are postponed (the
    /// engine backs off as for a failed dial) and inbound handshakes are refused. Each
    /// torrent's engine has its own, lower limits as well.
    pub max_connections: usize,
    /// The Mainline DHT (BEP 5); `None` (the default) leaves it off.
    pub dht: Option<DhtConfig>,
    /// Local Service Discovery (BEP 14); `None` (the default) leaves it off.
    pub lsd: Option<LsdConfig>,
    /// Message Stream Encryption towards peers, both directions.
    pub encryption: Encryption,
    /// Which transports peer connections use, both directions.
    pub transport: Transports,
    /// Map the listen port on the home router (UPnP-IGD, PCP, NAT-PMP) so that peers on the
    /// internet can dial us; `None` (the default) leaves it off. Nothing is mapped for a
    /// loopback listen address. What it achieved: [`crate::Session::reachability`].
    pub port_mapping: Option<PortMapConfig>,
}

/// The transports peer connections may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// The default, like libtorrent's: listen on TCP and uTP (one port number for both),
    /// dial uTP first and TCP if uTP does not answer soon.
    #[default]
    Both,
    /// TCP only: no UDP socket.
    Tcp,
    /// uTP only: no TCP listener, no TCP dials.
    Utp,
}

impl Transports {
    pub(crate) fn tcp(self) -> bool {
        self != Transports::Utp
    }

    pub(crate) fn utp(self) -> bool {
        self != Transports::Tcp
    }
}

/// Whether peer connections use Message Stream Encryption (MSE/PE).
///
/// MSE hides BitTorrent from traffic classifiers; it is obfuscation, not privacy (RC4 and a
/// 768-bit group are weak, and nothing authenticates the peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encryption {
    /// The default, as libtorrent's `pe_enabled`: dial with the encrypted handshake offering
    /// RC4 and plaintext, and dial again in plaintext if the peer drops it; accept both
    /// plaintext and encrypted peers. As the receiver, when a peer offers both, pick
    /// plaintext (libtorrent's default, `prefer_rc4` off): the handshake is already
    /// obfuscated, and RC4 costs CPU on every byte.
    #[default]
    Prefer,
    /// RC4 or nothing, both directions: refuse plaintext peers and plaintext-after-MSE (as
    /// libtorrent's `pe_forced` with `pe_rc4`, Transmission's "encryption required").
    Require,
    /// Plaintext only: never dial encrypted, refuse encrypted peers.
    Off,
}

impl SessionConfig {
    /// Listens on `listen`, with a random peer id, default timeouts and limits, and neither
    /// DHT, LSD nor port mapping.
    pub fn new(listen: SocketAddr) -> SessionConfig {
        SessionConfig {
            listen,
            peer_id: None,
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            check_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_pending_handshakes: 64,
            max_connections: 400,
            dht: None,
            lsd: None,
            encryption: Encryption::Prefer,
            transport: Transports::Both,
            port_mapping: None,
        }
    }
}

impl Default for SessionConfig {
    /// Listens on every IPv4 interface on an unused port.
    fn default() -> SessionConfig {
        SessionConfig::new(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
    }
}

/// A torrent to add with [`crate::Session::add_torrent`].
#[derive(Debug, Clone)]
pub struct AddTorrent {
    /// The torrent to download or seed.
    pub info_hash: InfoHash,
    /// The parsed info dictionary and its exact bytes; `None` for a magnet link, in which case
    /// the metadata is fetched from peers first.
    pub info: Option<(Arc<Info>, Bytes)>,
    /// Folder that holds (or will hold) the torrent's file or top-level folder.
    pub download_dir: PathBuf,
    /// Peers to dial at once (command-line `--peer`, magnet `x.pe` hints).
    pub peers: Vec<SocketAddr>,
    /// Tracker announce URLs as BEP 12 tiers: each inner list is one tier, tried in order.
    /// A private torrent (BEP 27) finds peers only through these.
    pub trackers: Vec<Vec<String>>,
    /// Keep the torrent running and uploading after it completes.
    pub seed: bool,
    /// The data in `download_dir` is known to be complete and correct (it was just hashed to
    /// create the torrent), so the re-check on add is skipped.
    pub data_complete: bool,
}

impl AddTorrent {
    /// A torrent added with everything optional left out: no peers, no seeding, re-check on.
    pub fn new(info_hash: InfoHash, download_dir: impl Into<PathBuf>) -> AddTorrent {
        AddTorrent {
            info_hash,
            info: None,
            download_dir: download_dir.into(),
            peers: Vec::new(),
            trackers: Vec::new(),
            seed: false,
            data_complete: false,
        }
    }
}
