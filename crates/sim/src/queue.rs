//! The event queue: a binary heap ordered by virtual time, ties broken by insertion order so
//! a run depends only on its seed.

use crate::conn::Outgoing;
use crate::node::NodeId;
use shoal_core::PieceIndex;
use shoal_engine::PeerKey;
use shoal_wire::Message;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
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
    /// A message left its sender's upload pipe.
    Uploaded {
        node: NodeId,
        key: PeerKey,
        out: Outgoing,
    },
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

struct Scheduled {
    at: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed, so the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
pub(crate) struct EventQueue {
    heap: BinaryHeap<Scheduled>,
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

    pub fn peek_time(&self) -> Option<u64> {
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
