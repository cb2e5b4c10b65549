//! The connection table. A connection joins two nodes; each side has its own
//! [`PeerKey`], derived from the connection's index: `key = index * 2 + side`, side 0 being
//! the dialer and side 1 the listener. Indices follow the order in which dials were made
//! (the swarm hands them out between windows, see [`crate::shard`]), so the keys a node
//! hands its engine sort in the order the connections were dialed.
//!
//! What each side knows of the connection (its [`Half`]) is kept by the node on that side,
//! so an event touches only the node it lands on and threads may run disjoint nodes at
//! once. The two halves learn about each other only through events (the handshake, a
//! close), like the two ends of a real TCP connection.

use crate::node::NodeId;
use shoal_engine::PeerKey;
use shoal_wire::Message;
use std::collections::VecDeque;

/// A message waiting for its sender's upload pipe.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub msg: Message,
    /// Payload length to report with `handle_block_sent` once sent (blocks only).
    pub block_len: Option<u32>,
}

/// What never changes about a connection once dialed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnInfo {
    /// `[dialer, listener]`.
    pub nodes: [NodeId; 2],
    /// One-way latency between the two nodes.
    pub latency: u64,
}

/// One side of a connection, kept by the node on that side.
#[derive(Debug)]
pub(crate) struct Half {
    pub key: PeerKey,
    /// The node at the other end.
    pub peer: NodeId,
    /// Whether our engine holds the connection (handshake done, not closed).
    pub open: bool,
    /// Messages we have queued and not yet started to send.
    pub queue: VecDeque<Outgoing>,
    /// Whether our key is in our node's round-robin list.
    pub in_ready: bool,
    /// When the last message to us clears our download pipe.
    pub down_until: u64,
    /// One-way latency between the two nodes (kept here so that sending a message does not
    /// have to look at the receiving node).
    pub latency: u64,
}

impl Half {
    pub fn new(key: PeerKey, peer: NodeId, latency: u64) -> Half {
        Half {
            key,
            peer,
            open: false,
            queue: VecDeque::new(),
            in_ready: false,
            down_until: 0,
            latency,
        }
    }

    /// Closes this side; its unsent messages are dropped (the engine forgot the peer).
    pub fn close(&mut self) {
        self.open = false;
        self.queue.clear();
    }
}

/// The key naming `side` of connection `index`.
pub(crate) fn key(index: usize, side: usize) -> PeerKey {
    PeerKey((index as u64) << 1 | side as u64)
}

/// `(connection index, side)` of a key.
pub(crate) fn split(key: PeerKey) -> (usize, usize) {
    ((key.0 >> 1) as usize, (key.0 & 1) as usize)
}

/// The key of the other end of the same connection.
pub(crate) fn remote(key: PeerKey) -> PeerKey {
    PeerKey(key.0 ^ 1)
}
