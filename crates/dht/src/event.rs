//! What the node hands out: events, datagrams to send, statistics.

use crate::item::MutableItem;
use std::net::SocketAddr;

/// Names one lookup (get_peers, announce, BEP 44 get or put, or bootstrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LookupId(pub u64);

/// Something the runtime should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Peers for a `get_peers` or `announce` lookup, as a node returned them (may repeat
    /// across events).
    Peers {
        /// The lookup.
        lookup: LookupId,
        /// Peers' addresses (IPv4 and IPv6).
        peers: Vec<SocketAddr>,
    },
    /// A BEP 44 immutable item found by `get_immutable` (checked against the target).
    Immutable {
        /// The lookup.
        lookup: LookupId,
        /// The bencoded value.
        value: Vec<u8>,
    },
    /// A BEP 44 mutable item found by `get_mutable` (signature checked), each newer one
    /// as it arrives.
    Mutable {
        /// The lookup.
        lookup: LookupId,
        /// The item.
        item: MutableItem,
    },
    /// A lookup finished; no more events name it.
    LookupDone {
        /// The lookup.
        lookup: LookupId,
        /// How it went.
        outcome: LookupOutcome,
    },
    /// A node told us our address as it sees it (BEP 42 `ip`). The runtime votes among
    /// reports from different nodes before believing one.
    ExternalAddress {
        /// Our address (IP and port) as seen by `reported_by`.
        addr: SocketAddr,
        /// The node that said so.
        reported_by: SocketAddr,
    },
}

/// The summary of a finished lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LookupOutcome {
    /// Nodes that answered the walk's queries.
    pub responded: usize,
    /// For announce and put: nodes that confirmed the store.
    pub stored: usize,
    /// Distinct peers reported (get_peers, announce).
    pub peers: usize,
}

/// A datagram written into the caller's buffer by `poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it; its family picks the socket.
    pub to: SocketAddr,
    /// Bytes written at the start of the buffer.
    pub len: usize,
}

/// Counters and sizes, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Nodes in the IPv4 table.
    pub nodes_v4: usize,
    /// Nodes in the IPv6 table.
    pub nodes_v6: usize,
    /// Requests in flight.
    pub in_flight: usize,
    /// Lookups running.
    pub lookups: usize,
    /// Info-hashes with stored peers.
    pub torrents: usize,
    /// Peers stored over all info-hashes.
    pub peers: usize,
    /// BEP 44 items stored.
    pub items: usize,
    /// Queries answered (errors included).
    pub queries_answered: u64,
    /// Datagrams that were not KRPC, or replies to nothing we asked.
    pub dropped: u64,
    /// Datagrams dropped because the transmit queue was full.
    pub transmit_overflow: u64,
}
