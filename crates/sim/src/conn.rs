//! The connection table. A connection joins two nodes; each side has its own
//! [`PeerKey`], derived from the connection's index so lookups are O(1):
//! `key = index * 2 + side`, side 0 being the dialer and side 1 the listener.

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

#[derive(Debug)]
pub(crate) struct Conn {
    /// `[dialer, listener]`.
    pub nodes: [NodeId; 2],
    /// Whether each side's engine holds the connection (handshake done, not closed).
    pub open: [bool; 2],
    /// Messages each side has queued and not yet started to send.
    pub queue: [VecDeque<Outgoing>; 2],
    /// Whether each side's key is in its node's round-robin list.
    pub in_ready: [bool; 2],
    /// When the last message to each side clears that side's download pipe.
    pub down_until: [u64; 2],
    /// One-way latency between the two nodes (kept here so that sending a message does not
    /// have to look at the receiving node).
    pub latency: u64,
}

impl Conn {
    pub fn new(dialer: NodeId, listener: NodeId, latency: u64) -> Conn {
        Conn {
            nodes: [dialer, listener],
            open: [false; 2],
            queue: [VecDeque::new(), VecDeque::new()],
            in_ready: [false; 2],
            down_until: [0; 2],
            latency,
        }
    }

    /// Closes one side; its unsent messages are dropped (the engine forgot the peer).
    pub fn close(&mut self, side: usize) {
        self.open[side] = false;
        self.queue[side].clear();
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
