//! The event queue: a calendar queue ordered by virtual time, ties broken by the node that
//! scheduled the event and that node's own count of events scheduled, so a run depends only
//! on its seed (and not on how nodes are spread over threads).

use crate::calendar::{Calendar, Timed};
use crate::node::NodeId;
use shoal_core::PieceIndex;
use shoal_engine::PeerKey;
use shoal_wire::Message;
use std::net::SocketAddr;

#[derive(Debug)]
pub(crate) enum Event {
    /// The engine's timer fires (stale unless it matches the node's pending wake).
    Wake { node: NodeId, at: u64 },
    /// The dialer's handshake reaches the listener on connection `conn`. The index is
    /// handed out between windows, in the order of (`dialed_at`, `cause`, the event's own
    /// tie): the order in which the dials were made.
    Dial {
        conn: u64,
        dialer: NodeId,
        /// The slot of the dialer's half.
        slot: u32,
        listener: NodeId,
        dialed_at: u64,
        /// The tie of the event whose handling made the dial.
        cause: u64,
    },
    /// The listener's handshake (from its side `remote`) reaches the dialer (`node`) on its
    /// side `key`.
    Accepted {
        node: NodeId,
        key: PeerKey,
        remote: PeerKey,
    },
    /// A dial failed (nobody there, or the listener refused the peer).
    DialFailed { node: NodeId, addr: SocketAddr },
    /// The node's transmit ring has room again: commit more queued messages.
    PipeFree { node: NodeId },
    /// A message reached the download pipe of the receiving side `key` (of `node`).
    Arrived {
        node: NodeId,
        key: PeerKey,
        msg: Message,
        size: u64,
    },
    /// A message is fully received by the side named by `key`.
    Delivered {
        node: NodeId,
        key: PeerKey,
        msg: Message,
    },
    /// The other end closed: the side named by `key` (of `node`) learns of it.
    Closed { node: NodeId, key: PeerKey },
    /// The hasher finished a piece.
    Verified {
        node: NodeId,
        piece: PieceIndex,
        ok: bool,
    },
}

impl Event {
    /// The node whose state the event is about (the only one its handling touches).
    pub(crate) fn target(&self) -> NodeId {
        match self {
            Event::Wake { node, .. }
            | Event::DialFailed { node, .. }
            | Event::PipeFree { node }
            | Event::Verified { node, .. }
            | Event::Accepted { node, .. }
            | Event::Arrived { node, .. }
            | Event::Delivered { node, .. }
            | Event::Closed { node, .. } => *node,
            Event::Dial { listener, .. } => *listener,
        }
    }
}

/// Bits of [`Scheduled::tie`] that count a node's scheduled events.
const SEQ_BITS: u32 = 40;

/// The tie-breaker of an event scheduled by node `source` as its `seq`-th.
pub(crate) fn tie(source: NodeId, seq: u64) -> u64 {
    u64::from(source.0) << SEQ_BITS | (seq & ((1 << SEQ_BITS) - 1))
}

/// A queue entry: the event itself, ordered by time, then by `tie` (see [`tie`]). Kept
/// whole in the queue rather than behind an index into a slab, which would cost a cache
/// miss per pop.
#[derive(Debug)]
pub(crate) struct Scheduled {
    pub at: u64,
    pub tie: u64,
    pub event: Event,
}

impl Scheduled {
    fn order(&self) -> (u64, u64) {
        (self.at, self.tie)
    }
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.order() == other.order()
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.order().cmp(&other.order())
    }
}

impl Timed for Scheduled {
    fn at(&self) -> u64 {
        self.at
    }
}

#[derive(Default)]
pub(crate) struct EventQueue {
    heap: Calendar<Scheduled>,
}

impl EventQueue {
    pub(crate) fn push(&mut self, item: Scheduled) {
        self.heap.push(item);
    }

    pub(crate) fn peek_time(&mut self) -> Option<u64> {
        self.heap.peek().map(|s| s.at)
    }

    /// `(at, tie)` of the next event: its place in the order of all events of the swarm.
    pub(crate) fn peek_order(&mut self) -> Option<(u64, u64)> {
        self.heap.peek().map(Scheduled::order)
    }

    pub(crate) fn pop(&mut self) -> Option<Scheduled> {
        self.heap.pop()
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_source_and_its_count() {
        let mut q = EventQueue::default();
        for (at, n, seq) in [
            (5, 0, 0),
            (1, 1, 0),
            (5, 2, 0),
            (1, 3, 0),
            (0, 4, 0),
            (5, 0, 1),
        ] {
            q.push(Scheduled {
                at,
                tie: tie(NodeId(n), seq),
                event: Event::Wake {
                    node: NodeId(n),
                    at,
                },
            });
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.pop())
            .map(|s| match s.event {
                Event::Wake { node, .. } => node.0,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![4, 1, 3, 0, 0, 2]);
    }
}
