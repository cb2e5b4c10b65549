//! The peers announced to us (BEP 5 `announce_peer`), by info-hash, for answering
//! `get_peers`. Bounded in info-hashes and in peers per info-hash; entries expire.

use crate::id::NodeId;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Peers returned in one answer at most: 50 IPv6 peers take 1,000 bytes, which keeps the
/// answer within one unfragmented datagram (libtorrent returns up to 100 IPv4 peers).
pub(crate) const MAX_PEERS_PER_ANSWER: usize = 50;

#[derive(Debug)]
pub(crate) struct PeerStore {
    torrents: HashMap<NodeId, Vec<(SocketAddr, Instant)>>,
    max_torrents: usize,
    max_per_torrent: usize,
    ttl: Duration,
}

impl PeerStore {
    pub(crate) fn new(max_torrents: usize, max_per_torrent: usize, ttl: Duration) -> Self {
        PeerStore {
            torrents: HashMap::new(),
            max_torrents,
            max_per_torrent,
            ttl,
        }
    }

    /// Records `peer` for `info_hash`; refreshes it if known. When the torrent's list is
    /// full the oldest entry goes; a new info-hash beyond the cap is not stored.
    pub(crate) fn add(&mut self, now: Instant, info_hash: NodeId, peer: SocketAddr) {
        if !self.torrents.contains_key(&info_hash) && self.torrents.len() >= self.max_torrents {
            return;
        }
        let list = self.torrents.entry(info_hash).or_default();
        if let Some(e) = list.iter_mut().find(|(a, _)| *a == peer) {
            e.1 = now;
            return;
        }
        if list.len() >= self.max_per_torrent {
            if let Some(oldest) = (0..list.len()).min_by_key(|&i| list[i].1) {
                list.swap_remove(oldest);
            }
        }
        list.push((peer, now));
    }

    /// Up to [`MAX_PEERS_PER_ANSWER`] peers of the family of `v6`, freshest first.
    pub(crate) fn get(&self, info_hash: &NodeId, v6: bool) -> Vec<SocketAddr> {
        let Some(list) = self.torrents.get(info_hash) else {
            return Vec::new();
        };
        let mut peers: Vec<&(SocketAddr, Instant)> =
            list.iter().filter(|(a, _)| a.is_ipv6() == v6).collect();
        peers.sort_by_key(|p| std::cmp::Reverse(p.1));
        peers
            .iter()
            .take(MAX_PEERS_PER_ANSWER)
            .map(|(a, _)| *a)
            .collect()
    }

    /// Drops entries older than the time to live.
    pub(crate) fn expire(&mut self, now: Instant) {
        let ttl = self.ttl;
        self.torrents.retain(|_, list| {
            list.retain(|(_, at)| now.saturating_duration_since(*at) < ttl);
            !list.is_empty()
        });
    }

    pub(crate) fn torrents(&self) -> usize {
        self.torrents.len()
    }

    pub(crate) fn peers(&self) -> usize {
        self.torrents.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let now = Instant::now();
        let mut s = PeerStore::new(2, 3, Duration::from_secs(60));
        for i in 0..10u8 {
            s.add(
                now,
                NodeId([i % 4; 20]),
                SocketAddr::from(([10, 0, 0, i], 1)),
            );
        }
        assert_eq!(s.torrents(), 2);
        assert!(s.peers() <= 6);
        s.expire(now + Duration::from_secs(61));
        assert_eq!(s.peers(), 0);
    }
}
