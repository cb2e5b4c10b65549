//! Connections. Each side of a connection is a [`Half`] kept by the node on that side, so an
//! event touches only the node it lands on and threads may run disjoint nodes at once. The
//! two halves learn about each other only through events (the handshake, a close), like the
//! two ends of a real TCP connection.
//!
//! A side's [`PeerKey`] is `index << 22 | side << 21 | slot`: the connection's index (the
//! swarm numbers dials in the order they were made, see `shard.rs`), the side (0 for the
//! dialer, 1 for the listener) and the slot of the half in its node's list. Keys a node hands
//! its engine therefore sort in the order the connections were dialed, and finding a half
//! from its key touches nothing but the half.

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

/// Bits of a key below the connection index.
const INDEX_SHIFT: u32 = 22;
/// Bits of a key for the slot: halves a node may have.
const SLOT_BITS: u32 = 21;
pub(crate) const MAX_SLOTS: usize = 1 << SLOT_BITS;

/// A key no connection has (a dialer's half before its connection is numbered).
pub(crate) const NO_KEY: PeerKey = PeerKey(u64::MAX);

/// One side of a connection, kept by the node on that side.
#[derive(Debug)]
pub(crate) struct Half {
    pub key: PeerKey,
    /// The other side's key.
    pub remote: PeerKey,
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
    pub(crate) fn new(key: PeerKey, remote: PeerKey, peer: NodeId, latency: u64) -> Half {
        Half {
            key,
            remote,
            peer,
            open: false,
            queue: VecDeque::new(),
            in_ready: false,
            down_until: 0,
            latency,
        }
    }

    /// Closes this side; its unsent messages are dropped (the engine forgot the peer).
    pub(crate) fn close(&mut self) {
        self.open = false;
        self.queue.clear();
    }
}

/// The key of `side` of connection `index`, whose half is at `slot` of its node.
pub(crate) fn key(index: u64, side: usize, slot: usize) -> PeerKey {
    PeerKey(index << INDEX_SHIFT | (side as u64) << SLOT_BITS | slot as u64)
}

/// The slot of `key`'s half in its node's list.
pub(crate) fn slot(key: PeerKey) -> usize {
    (key.0 & ((1 << SLOT_BITS) - 1)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_connection_and_name_their_slot() {
        let (a, b) = (key(7, 1, 5), key(8, 0, 0));
        assert!(a < b);
        assert_eq!((slot(a), slot(b)), (5, 0));
        assert_ne!(key(7, 0, 5), a);
        assert_eq!(slot(key(1 << 40, 1, MAX_SLOTS - 1)), MAX_SLOTS - 1);
    }
}
