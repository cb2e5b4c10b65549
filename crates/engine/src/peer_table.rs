//! The connected peers of a torrent, by key: a map with the iteration order of a
//! `BTreeMap` (ascending keys) and lookups that touch one or two cache lines.
//!
//! Nearly every input names a peer, so the lookup is the first thing the engine does for it.
//! In a simulated swarm of thousands of engines none of them is in cache, and a B-tree
//! search costs a miss per node level. Here the peers sit in one vector sorted by key (so
//! walks over every peer stay in key order and contiguous), and a small open-addressing
//! index maps a key to its position. Peers join and leave rarely compared with lookups, so
//! the index is simply rebuilt when they do.

use crate::peer::Peer;
use crate::PeerKey;

/// An index slot: a key and the position of its peer, or `EMPTY`.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    pos: u32,
}

const EMPTY: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct PeerTable {
    /// Sorted by key.
    entries: Vec<(PeerKey, Peer)>,
    /// Open addressing with linear probing; its length is a power of two at least twice
    /// the number of entries (zero when empty).
    index: Vec<Slot>,
}

fn hash(key: u64, mask: usize) -> usize {
    // Fibonacci hashing: driver keys are often small consecutive numbers.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

impl PeerTable {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn position(&self, key: &PeerKey) -> Option<usize> {
        if self.index.is_empty() {
            return None;
        }
        let mask = self.index.len() - 1;
        let mut i = hash(key.0, mask);
        loop {
            let slot = self.index[i];
            if slot.pos == EMPTY {
                return None;
            }
            if slot.key == key.0 {
                return Some(slot.pos as usize);
            }
            i = (i + 1) & mask;
        }
    }

    pub(crate) fn get(&self, key: &PeerKey) -> Option<&Peer> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub(crate) fn get_mut(&mut self, key: &PeerKey) -> Option<&mut Peer> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    pub(crate) fn contains_key(&self, key: &PeerKey) -> bool {
        self.position(key).is_some()
    }

    /// Adds or replaces the peer under `key`; returns the one replaced.
    pub(crate) fn insert(&mut self, key: PeerKey, peer: Peer) -> Option<Peer> {
        match self.entries.binary_search_by_key(&key, |e| e.0) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, peer)),
            Err(i) => {
                self.entries.insert(i, (key, peer));
                self.reindex();
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &PeerKey) -> Option<Peer> {
        let i = self.position(key)?;
        let (_, peer) = self.entries.remove(i);
        self.reindex();
        Some(peer)
    }

    fn reindex(&mut self) {
        let size = (self.entries.len() * 2).next_power_of_two().max(16);
        self.index.clear();
        self.index.resize(size, Slot { key: 0, pos: EMPTY });
        let mask = size - 1;
        for (pos, (key, _)) in self.entries.iter().enumerate() {
            let mut i = hash(key.0, mask);
            while self.index[i].pos != EMPTY {
                i = (i + 1) & mask;
            }
            self.index[i] = Slot {
                key: key.0,
                pos: pos as u32,
            };
        }
    }

    /// Keys in ascending order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &PeerKey> {
        self.entries.iter().map(|e| &e.0)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &Peer> {
        self.entries.iter().map(|e| &e.1)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Peer> {
        self.entries.iter_mut().map(|e| &mut e.1)
    }

    /// `(key, peer)` in ascending key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PeerKey, &Peer)> {
        self.entries.iter().map(|e| (&e.0, &e.1))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&PeerKey, &mut Peer)> {
        self.entries.iter_mut().map(|e| (&e.0, &mut e.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_core::{PeerId, Rng};
    use std::collections::BTreeMap;
    use std::net::SocketAddr;
    use std::time::Instant;

    fn peer(tag: u16) -> Peer {
        let addr = SocketAddr::from(([10, 0, 0, 1], tag));
        Peer::new(
            Instant::now(),
            addr,
            PeerId([0; 20]),
            true,
            crate::shared::Capabilities::of(crate::our_reserved_bits()),
        )
    }

    #[test]
    fn behaves_like_a_btreemap() {
        let mut rng = Rng::new(11);
        let mut table = PeerTable::default();
        let mut reference: BTreeMap<PeerKey, u16> = BTreeMap::new();
        for round in 0..5_000u16 {
            let key = PeerKey(rng.below(200) * 2 + rng.below(2));
            if rng.below(3) == 0 {
                assert_eq!(
                    table.remove(&key).map(|p| p.addr.port()),
                    reference.remove(&key),
                    "round {round}"
                );
            } else {
                let replaced = table.insert(key, peer(round)).map(|p| p.addr.port());
                assert_eq!(replaced, reference.insert(key, round), "round {round}");
            }
            assert_eq!(table.len(), reference.len());
            let probe = PeerKey(rng.below(400));
            assert_eq!(
                table.get(&probe).map(|p| p.addr.port()),
                reference.get(&probe).copied()
            );
            assert_eq!(table.contains_key(&probe), reference.contains_key(&probe));
        }
        let ours: Vec<(PeerKey, u16)> = table.iter().map(|(k, p)| (*k, p.addr.port())).collect();
        let theirs: Vec<(PeerKey, u16)> = reference.into_iter().collect();
        assert_eq!(ours, theirs, "same content, same order");
        for p in table.values_mut() {
            p.snubbed = true;
        }
        assert!(table.values().all(|p| p.snubbed));
        assert!(table.keys().zip(table.keys().skip(1)).all(|(a, b)| a < b));
    }
}
