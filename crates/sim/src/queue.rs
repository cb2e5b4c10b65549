//! The event queue: a calendar queue ordered by virtual time, ties broken by insertion order
//! so a run depends only on its seed.

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
    /// The dialer's handshake reaches the listener.
    Dial { conn: usize },
    /// The listener's handshake reaches the dialer.
    Accepted { conn: usize },
    /// A dial failed (nobody there, or the listener refused the peer).
    DialFailed { node: NodeId, addr: SocketAddr },
    /// The node's transmit ring has room again: commit more queued messages.
    PipeFree { node: NodeId },
    /// A message reached the receiving side's download pipe.
    Arrived {
        key: PeerKey,
        msg: Message,
        size: u64,
    },
    /// A message is fully received by the side named by `key`.
    Delivered { key: PeerKey, msg: Message },
    /// The other end closed: the side named by `key` learns of it.
    Closed { key: PeerKey },
    /// The hasher finished a piece.
    Verified {
        node: NodeId,
        piece: PieceIndex,
        ok: bool,
    },
}

/// A queue entry: the event itself, ordered by time, then by insertion. Kept whole in the
/// queue rather than behind an index into a slab, which would cost a cache miss per pop.
#[derive(Debug)]
struct Scheduled {
    at: u64,
    seq: u64,
    event: Event,
}

impl Scheduled {
    fn order(&self) -> (u64, u64) {
        (self.at, self.seq)
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
    next_seq: u64,
}

impl EventQueue {
    pub fn push(&mut self, at: u64, event: Event) {
        self.heap.push(Scheduled {
            at,
            seq: self.next_seq,
            event,
        });
        self.next_seq += 1;
    }

    pub fn peek_time(&mut self) -> Option<u64> {
        self.heap.peek().map(|s| s.at)
    }

    pub fn pop(&mut self) -> Option<(u64, Event)> {
        self.heap.pop().map(|s| (s.at, s.event))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_insertion_order() {
        let mut q = EventQueue::default();
        for (at, n) in [(5, 0), (1, 1), (5, 2), (1, 3), (0, 4)] {
            q.push(
                at,
                Event::Wake {
                    node: NodeId(n),
                    at,
                },
            );
        }
        let order: Vec<u32> = std::iter::from_fn(|| q.pop())
            .map(|(_, e)| match e {
                Event::Wake { node, .. } => node.0,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, vec![4, 1, 3, 0, 2]);
    }
}
