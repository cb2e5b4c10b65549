//! The node's settings.

use std::time::Duration;

/// Settings of a [`Dht`](crate::Dht). `Default` gives BEP 5's values and a public-Internet
/// node (non-routable addresses refused); tests set `allow_private_addresses`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Seeds the node id (unless [`Config::node_id`] is set), transaction ids and the token
    /// secrets. The runtime gives OS randomness; tests give a constant.
    pub seed: u64,
    /// Our node id; `None` draws one from the seed. (BEP 42's id derived from our external
    /// IP is not computed here: the runtime may pass one.)
    pub node_id: Option<[u8; 20]>,
    /// BEP 43: send `ro=1`, answer no queries, stay out of other nodes' tables.
    pub read_only: bool,
    /// Accept loopback, private, link-local and unique-local addresses as nodes and peers
    /// (tests, LANs). Off by default: on the Internet such entries are garbage or attacks.
    pub allow_private_addresses: bool,
    /// Keep an IPv4 routing table (answer and look up over IPv4).
    pub ipv4: bool,
    /// Keep an IPv6 routing table (BEP 32).
    pub ipv6: bool,
    /// Our client version, sent as `v` (4 bytes by convention: two letters, two digits).
    pub version: Option<Vec<u8>>,
    /// Bucket size, k (BEP 5: 8).
    pub k: usize,
    /// Parallel requests per lookup walk, alpha (3).
    pub alpha: usize,
    /// How long to wait for an answer before counting the request failed.
    pub request_timeout: Duration,
    /// Requests in flight at most, over all lookups and maintenance.
    pub max_in_flight: usize,
    /// Lookups running at once at most; more are refused.
    pub max_lookups: usize,
    /// Datagrams waiting for `poll_transmit` at most; more are dropped (answers first).
    pub max_queued_transmits: usize,
    /// Events waiting for `poll_event` at most; older ones are dropped.
    pub max_queued_events: usize,
    /// Info-hashes in the peer store at most.
    pub max_torrents: usize,
    /// Peers kept per info-hash at most.
    pub max_peers_per_torrent: usize,
    /// BEP 44 items stored at most.
    pub max_items: usize,
    /// How long an announced peer is kept (BEP 5 suggests 30 minutes).
    pub peer_ttl: Duration,
    /// How long a BEP 44 item is kept after its last put (BEP 44: at least 2 hours).
    pub item_ttl: Duration,
    /// How often the token secret rotates (the previous one is still accepted).
    pub token_rotation: Duration,
    /// A bucket untouched this long is refreshed by a lookup in its range (BEP 5: 15 min).
    pub bucket_refresh: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            node_id: None,
            read_only: false,
            allow_private_addresses: false,
            ipv4: true,
            ipv6: true,
            version: Some(b"SH01".to_vec()),
            k: 8,
            alpha: 3,
            request_timeout: Duration::from_secs(2),
            max_in_flight: 256,
            max_lookups: 64,
            max_queued_transmits: 512,
            max_queued_events: 1024,
            max_torrents: 4096,
            max_peers_per_torrent: 200,
            max_items: 1024,
            peer_ttl: Duration::from_secs(30 * 60),
            item_ttl: Duration::from_secs(2 * 60 * 60),
            token_rotation: Duration::from_secs(5 * 60),
            bucket_refresh: Duration::from_secs(15 * 60),
        }
    }
}
