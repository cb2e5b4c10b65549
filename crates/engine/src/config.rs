//! Engine tunables, with defaults suited to a desktop client.

use shoal_core::PeerId;
use std::time::Duration;

/// How one [`Torrent`](crate::Torrent) behaves: who we are, what we announce, and the
/// limits and time-outs of its swarm. [`Config::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our peer id, as sent in handshakes; a peer with the same id is ourselves.
    pub peer_id: PeerId,
    /// TCP port we accept connections on, announced in the extension handshake.
    pub listen_port: Option<u16>,
    /// UDP port of our DHT node, sent in a `PORT` message (BEP 5) to every peer whose
    /// handshake set the DHT bit, right after our first messages. `None` while no DHT node
    /// runs; a node that comes up later is announced with
    /// [`Torrent::handle_dht_port`](crate::Torrent::handle_dht_port). Never sent for a
    /// private torrent.
    pub dht_port: Option<u16>,
    /// Seed for the engine's RNG (tie-breaks, optimistic unchoke).
    pub rng_seed: u64,
    /// Upload slots besides the optimistic one, while downloading (tit-for-tat).
    pub upload_slots: usize,
    /// Upload slots besides the optimistic one, while seeding. More than while downloading:
    /// a seed trades nothing, and spreading its upload over more peers spreads more
    /// different pieces at once. Past a dozen the gain levels off, as each slot's share of
    /// the upload shrinks (Transmission unchokes 14 per torrent); the simulator's figures are
    /// in docs/performance.md.
    pub seed_upload_slots: usize,
    /// Most connected peers for this torrent.
    pub max_peers: usize,
    /// Outstanding requests per peer at most (our pipeline depth cap).
    pub max_requests_per_peer: usize,
    /// Most peers we dial at once.
    pub max_half_open: usize,
    /// Hash failures after which a peer that contributed to the failed pieces is banned.
    pub ban_after_failures: u32,
    /// A requested block not delivered within this time is re-requested elsewhere.
    pub request_timeout: Duration,
    /// A peer from which we hear nothing for this long is dropped.
    pub idle_timeout: Duration,
    /// Keep uploading after completion (if false, the torrent stops dialing and drops seeds).
    pub seed_when_complete: bool,
    /// BEP 27: no PEX and no DHT `PORT` messages, whatever the metainfo says. (The runtime
    /// keeps a private torrent off the DHT and LSD itself; the metainfo's `private` flag
    /// has the same effect here.)
    pub private: bool,
    /// Client name sent in the extension handshake `v`.
    pub client_name: String,
    /// Hole punching through a peer (BEP 55): announce `ut_holepunch`, relay rendezvous
    /// between our peers, and ask a peer that introduced an address by PEX to relay when a
    /// dial to it fails. Needs a runtime that dials
    /// [`HolepunchConnect`](crate::Action::HolepunchConnect) over uTP, so it is off by
    /// default; never used for a private torrent (its peers come from its trackers only).
    pub holepunch: bool,
}

impl Config {
    /// The defaults, for a client with this peer id; the RNG seed is taken from the id.
    pub fn new(peer_id: PeerId) -> Config {
        Config {
            peer_id,
            listen_port: None,
            dht_port: None,
            rng_seed: u64::from_le_bytes(peer_id.0[12..20].try_into().unwrap_or([0; 8])),
            upload_slots: 4,
            seed_upload_slots: 12,
            max_peers: 80,
            max_requests_per_peer: 500,
            max_half_open: 16,
            ban_after_failures: 2,
            request_timeout: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(150),
            seed_when_complete: true,
            private: false,
            client_name: concat!("shoal ", env!("CARGO_PKG_VERSION")).to_string(),
            holepunch: false,
        }
    }
}
