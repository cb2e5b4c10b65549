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

/// A queue entry: small and `Copy`, so sifting is cheap; the event itself waits in a slab.
/// Ordered by time, then by insertion (field order matters for the derived `Ord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at: u64,
    seq: u64,
    slot: u32,
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
    /// Events by slot; `None` slots are listed in `free`.
    slab: Vec<Option<Event>>,
    free: Vec<u32>,
}

impl EventQueue {
    pub fn push(&mut self, at: u64, event: Event) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Scheduled {
            at,
            seq: self.next_seq,
            slot,
        });
        self.next_seq += 1;
    }

    pub fn peek_time(&mut self) -> Option<u64> {
        self.heap.peek().map(|s| s.at)
    }

    pub fn pop(&mut self) -> Option<(u64, Event)> {
        let s = self.heap.pop()?;
        self.free.push(s.slot);
        let event = self.slab.get_mut(s.slot as usize).and_then(Option::take)?;
        Some((s.at, event))
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
